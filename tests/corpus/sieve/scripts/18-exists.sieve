# RFC 5228 §5.5: exists is true only when every named header exists.
require "fileinto";
if exists ["list-id", "list-post"] {
  fileinto "HasListHeaders";
}
if exists ["subject", "x-does-not-exist"] {
  fileinto "Never";
}
if not exists "date" {
  fileinto "NoDate";
}
if exists "x-empty" {
  fileinto "EmptyHeader";
}
