# RFC 5232 §3 with variables: flag lists held in a named variable; hasflag on it.
require ["imap4flags", "variables", "fileinto"];
set "myflags" "";
addflag "myflags" ["one", "two two"];
removeflag "myflags" "two";
if hasflag :contains "myflags" "tw" {
  fileinto :flags "${myflags}" "Flagged";
}
addflag "\\Seen one \\Seen";
