# Invalid: RFC 5231 §5 relational operator must be one of gt/ge/lt/le/eq/ne.
require "relational";
if header :value "greater" "subject" "a" {
  discard;
}
