import java.util.Scanner;

// Double.toString prints e.g. 1.0E-9 (scientific notation with a capital E).
public class Divide {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        double a = in.nextLong();
        double b = in.nextLong();
        System.out.println(a / b);
    }
}
