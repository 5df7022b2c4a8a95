module loophound/samples

go 1.19
