# RFC 5233: :user and :detail on envelope and address.
require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :matches :detail "to" "*" {
  if string :is "${1}" "" {
    fileinto "EmptyDetail";
  } else {
    fileinto "detail-${1}";
  }
}
if address :is :user "to" "bob" {
  fileinto "UserBob";
}
if envelope :is :detail "to" "orders" {
  redirect "orders@example.org";
}
