# RFC 6131: vacation :seconds.
require ["vacation-seconds", "fileinto"];
if header :contains "subject" "order" {
  vacation :seconds 7200 "Orders are answered within two hours.";
} else {
  vacation :seconds 172800 :handle "long" "Back in two days.";
}
fileinto "Replied";
