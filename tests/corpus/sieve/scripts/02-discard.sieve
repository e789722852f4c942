# RFC 5228 §4.4: discard cancels the implicit keep.
if header :contains "subject" ["cheap", "newsletter"] {
  discard;
}
