# RFC 5228 §5.4: the null reverse-path matches the empty string (see also rfc-only cases).
require ["envelope", "fileinto"];
if envelope :is "from" "" {
  fileinto "NullSender";
} elsif envelope :matches "from" "?*@*" {
  fileinto "HasSender";
}
