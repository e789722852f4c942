# RFC 5228 §4.2: redirect cancels the implicit keep.
if address :is :domain "from" ["example.com", "example.org"] {
  redirect "bob@forward.example";
}
