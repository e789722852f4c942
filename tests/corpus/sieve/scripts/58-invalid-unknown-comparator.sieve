# Invalid: a comparator that was not required / does not exist (RFC 5228 §2.7.3).
if header :is :comparator "i;unknown" "subject" "x" {
  discard;
}
