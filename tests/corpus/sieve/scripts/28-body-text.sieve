# RFC 5173 §5.2: body :text looks at decoded text parts (transfer encoding and charset undone).
require ["body", "fileinto"];
if body :text :contains "invoice" {
  fileinto "BodyInvoice";
}
if body :text :contains "swordfish" {
  fileinto "BodySecret";
}
if body :text :contains "Café" {
  fileinto "BodyCafe";
}
if body :text :contains "会議" {
  fileinto "BodyJapanese";
}
