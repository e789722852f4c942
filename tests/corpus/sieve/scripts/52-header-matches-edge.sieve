# RFC 5228 §2.7.1: matching edge cases: empty key, ? for one character, escaped wildcards.
require "fileinto";
if header :contains "subject" "" {
  fileinto "HasSubject";
}
if header :matches "subject" "?????" {
  fileinto "FiveChars";
}
if header :matches "x-priority" "*1*" {
  fileinto "PriorityOne";
}
if header :is "x-empty" "" {
  fileinto "EmptyIsEmpty";
}
if header :matches "subject" "*\\?" {
  fileinto "Question";
}
