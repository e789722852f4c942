# RFC 5429 §2.1: reject together with fileinto (or keep) is an error.
require ["reject", "fileinto"];
fileinto "Audit";
if header :contains "subject" "FYI" {
  reject "not wanted";
}
