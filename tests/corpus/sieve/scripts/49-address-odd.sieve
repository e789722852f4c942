# RFC 5228 §5.1: address on groups, comments and case; :all compares the whole address.
require "fileinto";
if address :is :all "cc" "bob@example.net" {
  fileinto "CcBob";
}
if address :is :localpart "from" "kim" {
  fileinto "Kim";
}
if address :is :all "reply-to" "replies@example.com" {
  fileinto "ReplyTo";
}
if address :matches :all "to" "*" {
  fileinto "ToAnything";
}
if address :contains :domain "resent-to" "example.net" {
  fileinto "Resent";
}
