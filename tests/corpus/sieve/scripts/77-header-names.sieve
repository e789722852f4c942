# RFC 5228 §2.4.2.2: header names are case-insensitive; repeated headers are each tested.
require "fileinto";
if header :is "X-TAG" "beta" {
  fileinto "SecondTag";
}
if header :is ["SUBJECT", "x-nope"] "Lunch tomorrow?" {
  fileinto "Upper";
}
if header :matches "x-priority" "" {
  fileinto "EmptyPriorityMatch";
}
if address :is :all "SENDER" "dev-bounces@lists.example.org" {
  fileinto "Sender";
}
