# Invalid: :localpart is an address-part, not allowed on header (RFC 5228 §5.7).
if header :localpart :is "from" "x" {
  discard;
}
