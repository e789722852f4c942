# Invalid: a string list cannot end with a comma (RFC 5228 §8.1).
if header :is "subject" ["a", "b",] {
  discard;
}
