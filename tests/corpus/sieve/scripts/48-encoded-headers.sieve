# RFC 5228 §2.7.2: header tests see RFC 2047-decoded text.
require "fileinto";
if header :contains "subject" "Größe" {
  fileinto "Groesse";
}
if header :contains "from" "Jörg Müller" {
  fileinto "Joerg";
}
if header :contains "subject" "Résumé" {
  fileinto "Resume";
}
if header :contains "to" "Bob Example" {
  fileinto "ToBobDecoded";
}
if header :contains "subject" "会議" {
  fileinto "RawUtf8";
}
if header :is "subject" "Folded subject line	with tabs" {
  fileinto "Unfolded";
}
