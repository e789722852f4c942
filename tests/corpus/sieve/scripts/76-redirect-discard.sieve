# RFC 5228 §4.2: redirect then discard: the message is forwarded only.
if address :is :domain "to" "example.net" {
  redirect "Forward@Example.ORG";
}
discard;
