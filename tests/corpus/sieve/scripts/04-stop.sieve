# RFC 5228 §3.3: stop ends the script; later commands are not run.
require "fileinto";
if address :is :domain "from" "example.com" {
  fileinto "Known";
  stop;
}
discard;
