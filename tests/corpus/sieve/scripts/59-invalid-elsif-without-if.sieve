# Invalid: elsif must follow if (RFC 5228 §3.1).
keep;
elsif true {
  discard;
}
