# draft-ietf-sieve-regex: :regex with captures.
require ["regex", "variables", "fileinto"];
if header :regex "subject" "^(Re|Fwd?): *(.*)$" {
  fileinto "reply-${1}";
}
if address :regex :domain "from" "^([a-z]+)\\.example\\.(com|org)$" {
  fileinto "sub-${1}-${2}";
}
if header :regex "subject" "[0-9]{4}" {
  fileinto "HasNumber";
}
