# RFC 3894: :copy keeps the implicit keep.
require ["fileinto", "copy"];
fileinto :copy "Archive";
if header :contains "subject" "order" {
  redirect :copy "orders@example.org";
}
