# A realistic user script: lists by List-Id, flags, forwards, and vacation.
require ["fileinto", "envelope", "variables", "imap4flags", "mailbox", "vacation", "copy"];
if header :matches "list-id" "*<*.lists.example.org>*" {
  fileinto :create "Lists/${2}";
  stop;
}
if anyof (header :contains "subject" "[SPAM]", header :is "precedence" "bulk") {
  fileinto :flags "\\Seen" "Junk";
  stop;
}
if address :is :domain "from" "example.com" {
  addflag "\\Flagged";
  redirect :copy "bob.mobile@example.org";
}
vacation :days 5 :subject "Away" "I am away; your mail is kept.";
