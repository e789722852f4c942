# Vacation with discard: the reply does not depend on keeping the message.
require ["vacation", "fileinto"];
if header :contains "subject" ["cheap", "newsletter"] {
  discard;
  stop;
}
vacation :days 7 :subject "Out of office" "I am away.";
fileinto "WhileAway";
