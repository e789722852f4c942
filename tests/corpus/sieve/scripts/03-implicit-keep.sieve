# RFC 5228 §2.10.2: no action taken -> implicit keep.
if false {
  discard;
}
