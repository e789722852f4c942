# RFC 5232: addflag/setflag/removeflag on the internal variable, used by keep and implicit keep.
require ["imap4flags", "fileinto"];
setflag "\\Seen";
addflag ["$Label1", "\\Flagged"];
removeflag "\\Seen";
if header :contains "subject" "report" {
  fileinto :flags "\\Answered work" "Reports";
}
if hasflag :is "$label1" {
  addflag "matched";
}
if header :contains "subject" "Lunch" {
  keep :flags "";
}
