# RFC 5230 §4.2-4.4: :subject, :from, :handle.
require ["vacation", "variables"];
if header :matches "subject" "*" {
  set "subj" "${1}";
}
vacation :days 10 :subject "Away: ${subj}" :from "bob@example.net" :handle "away-2024" "Back on Monday.";
