# RFC 5233 §4: the detail is everything after the first separator; :user is before it.
require ["subaddress", "envelope", "variables", "fileinto"];
if address :matches :detail "to" "*" {
  fileinto "to-detail-${1}";
}
if address :matches :user ["to", "cc"] "*" {
  fileinto "to-user-${1}";
}
if envelope :matches :user "to" "*" {
  fileinto "env-user-${1}";
}
