# Invalid: a constant regular expression that does not compile (draft-ietf-sieve-regex §3).
require "regex";
if header :regex "subject" "(unclosed" {
  discard;
}
