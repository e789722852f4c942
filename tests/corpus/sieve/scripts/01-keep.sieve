# RFC 5228 §4.3: explicit keep cancels the implicit keep.
keep;
