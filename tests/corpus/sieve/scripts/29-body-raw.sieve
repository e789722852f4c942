# RFC 5173 §5.1: body :raw sees the undecoded body.
require ["body", "fileinto"];
if body :raw :contains "swordfish" {
  fileinto "RawPlain";
}
if body :raw :contains "VGhlIHNlY3JldCBwYXNzd29y" {
  fileinto "RawBase64";
}
if body :raw :contains "r=E9sum=E9" {
  fileinto "RawQP";
}
