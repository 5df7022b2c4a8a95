module loophound/bench

go 1.19
