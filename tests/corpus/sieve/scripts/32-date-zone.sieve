# RFC 5260 §4.2: :zone converts the date before extracting parts.
require ["date", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if date :zone "+0000" :matches "date" "iso8601" "*" {
  set "utc" "${1}";
}
if date :zone "+0000" :is "date" "date" "2024-03-06" {
  fileinto "UtcMarch6";
}
if date :zone "-0800" :value "lt" :comparator "i;ascii-numeric" "date" "hour" "12" {
  fileinto "MorningPacific";
}
if date :zone "+0000" :is "date" "std11" "Wed, 06 Mar 2024 04:30:00 +0000" {
  fileinto "Std11";
}
if string :matches "${utc}" "2024-03-0*T*" {
  fileinto "iso-${1}";
}
