# RFC 5228 §5.1 and §5.7: header sees the decoded display name, address only the address itself.
require "fileinto";
if address :is :all "from" "joerg@example.de" {
  fileinto "AddrJoerg";
}
if header :contains "from" "joerg@example.de" {
  fileinto "HeaderJoerg";
}
if address :contains :all "from" "Müller" {
  fileinto "NeverDisplayName";
}
if address :is :localpart "from" "MAILER-DAEMON" {
  fileinto "Daemon";
}
