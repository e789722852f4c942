# RFC 5173 §5: :text on HTML-only mail; §5.3: :content "multipart" searches only the prologue and
# epilogue, :content "message/rfc822" only the nested header; broken MIME.
require ["body", "fileinto"];
if body :text :contains "cheap watches" {
  fileinto "TextFromHtml";
}
if body :content "multipart" :contains "preamble" {
  fileinto "Preamble";
}
if body :content "multipart" :contains "epilogue words" {
  fileinto "Epilogue";
}
if body :content "message/rfc822" :contains "inner@example.com" {
  fileinto "RfcPartHeader";
}
if body :content "text/plain" :contains "inner invoice" {
  fileinto "NestedText";
}
if body :content "message/rfc822" :contains "inner invoice" {
  fileinto "RfcPartBody";
}
if body :text :contains "hidden" {
  fileinto "BrokenBase64";
}
if body :raw :matches "*soft=*" {
  fileinto "RawSoftBreak";
}
