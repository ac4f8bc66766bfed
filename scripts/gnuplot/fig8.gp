# The paper's Figure 8: log gradient norm against iteration for each
# optimizer, one panel per quadratic case (2 x 2 for four cases).
#
#   gnuplot -e "files='case1.csv case2.csv case3.csv case4.csv'; titles='a b c d'; out='fig8.png'" scripts/gnuplot/fig8.gp
#
# Each CSV has rows label,t,grad_norm (see the Makefile's fig8 target);
# titles are words with `_` for spaces. Norms below 1e-300 (subnormal) are drawn at 1e-300.
if (!exists("out")) out = 'fig8.png'
if (!exists("titles")) titles = files
n = words(files)
cols = (n > 2) ? 2 : n
rows = (n + cols - 1) / cols
set datafile separator ','
set terminal pngcairo size 450*cols,330*rows enhanced font ',9'
set output out
set logscale y
set format y '10^{%L}'
set xlabel 'iteration'
set ylabel 'gradient norm'
set key top right font ',8' noenhanced
set multiplot layout rows, cols
array lab[20]
do for [k=1:n] {
    f = word(files, k)
    # labels contain spaces: read them one by one into an array, once
    nl = int(system(sprintf("cut -d, -f1 %s | awk '!s[$0]++' | wc -l", f)))
    do for [i=1:nl] {
        lab[i] = system(sprintf("cut -d, -f1 %s | tr -d '\"' | awk '!s[$0]++' | sed -n '%dp'", f, i))
    }
    set title system(sprintf("echo '%s' | tr '_' ' '", word(titles, k))) noenhanced
    plot for [i=1:nl] f using 2:((strcol(1) eq lab[i]) ? ($3 > 1e-300 ? $3 : 1e-300) : 1/0) with lines lw 1.5 title lab[i]
}
unset multiplot
