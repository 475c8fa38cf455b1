const sum = (a, b => a + b;
console.log(sum(1, 2));
