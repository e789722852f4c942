# RFC 5228 §3.1 if/elsif/else with fileinto (§4.1).
require "fileinto";
if header :contains "subject" "report" {
  fileinto "Reports";
} elsif header :contains ["subject", "x-tag"] ["invoice", "beta"] {
  fileinto "Finance";
} elsif exists "list-id" {
  fileinto "Lists";
} else {
  fileinto "Other";
}
