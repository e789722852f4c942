# RFC 5230 §4.1-4.3: :days 0 is raised to the minimum; :from with a display name; empty reason.
require "vacation";
if header :contains "subject" ["Lunch", "report"] {
  vacation :days 0 :from "Bob Example <bob@example.net>" :subject "Abwesend: Grüße" "";
} else {
  vacation :days 45 "Long away.";
}
