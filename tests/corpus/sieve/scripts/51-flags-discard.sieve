# RFC 5232 §5: flags set before a discard do not resurrect the implicit keep.
require ["imap4flags", "fileinto"];
addflag "\\Seen";
if size :under 400 {
  discard;
}
if header :contains "subject" "Invoice" {
  fileinto "Invoices";
  keep;
}
