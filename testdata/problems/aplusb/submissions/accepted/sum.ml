let () = Scanf.scanf " %d %d" (fun a b -> print_int (a + b); print_newline ())
