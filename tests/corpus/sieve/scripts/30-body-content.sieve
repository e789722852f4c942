# RFC 5173 §5.3: body :content with media types.
require ["body", "fileinto"];
if body :content "text/html" :contains "quarterly" {
  fileinto "HtmlQuarterly";
}
if body :content "text" :contains "attachment" {
  fileinto "TextAttachment";
}
if body :content "application/pdf" :contains "" {
  fileinto "HasPdf";
}
if body :content "message/delivery-status" :contains "5.1.1" {
  fileinto "Dsn";
}
