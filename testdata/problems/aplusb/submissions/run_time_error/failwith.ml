let () = Scanf.scanf " %d %d" (fun a b -> failwith (Printf.sprintf "deliberate failure %d" (a + b)))
