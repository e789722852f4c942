# More redirects than the limit (4): a runtime error, so implicit keep (RFC 5228 §2.10.6).
redirect "a@forward.example";
redirect "b@forward.example";
redirect "c@forward.example";
redirect "d@forward.example";
if exists "subject" {
  redirect "e@forward.example";
}
