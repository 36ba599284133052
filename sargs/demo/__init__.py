"""`sargs demo`: a realistic Jelgava data set and a red-wind scenario played against the
provider simulators, with a page of what every phone, chat and inbox received."""
