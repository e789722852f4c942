# Invalid: fileinto without require "fileinto" (RFC 5228 §3.2).
if true {
  fileinto "Folder";
}
