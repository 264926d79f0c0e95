module example.com/benchfn

go 1.22
