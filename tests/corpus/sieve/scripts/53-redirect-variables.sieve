# RFC 5229 with redirect: the address is built from a variable.
require ["variables", "envelope", "subaddress"];
if envelope :matches :detail "to" "*" {
  set "who" "${1}";
}
if string :is "${who}" "orders" {
  redirect "${who}@shop-team.example.org";
}
