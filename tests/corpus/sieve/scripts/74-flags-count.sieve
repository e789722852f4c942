# RFC 5232 §4 hasflag with :count, and removeflag of everything.
require ["imap4flags", "relational", "comparator-i;ascii-numeric", "fileinto"];
setflag ["a", "b", "c", "B"];
if hasflag :count "eq" :comparator "i;ascii-numeric" "3" {
  fileinto "ThreeFlags";
}
removeflag ["a", "b", "c"];
if not hasflag :matches "*" {
  addflag "none-left";
}
