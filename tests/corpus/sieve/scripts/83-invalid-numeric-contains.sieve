# Invalid: i;ascii-numeric does not support substring matching (RFC 4790 §9.1, RFC 5228 §2.7.3).
require "comparator-i;ascii-numeric";
if header :contains :comparator "i;ascii-numeric" "x-priority" "1" {
  discard;
}
