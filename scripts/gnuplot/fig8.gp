# The paper's Figure 8: log gradient norm against iteration for each
# optimizer, one panel per quadratic case.
#
#   gnuplot -e "files='case3.csv case4.csv'; titles='Case_3 Case_4'; out='fig8.png'" scripts/gnuplot/fig8.gp
#
# Each CSV has rows optimizer,t,grad_norm (see the Makefile's fig8 target).
if (!exists("out")) out = 'fig8.png'
if (!exists("titles")) titles = files
set datafile separator ','
set terminal pngcairo size 480*words(files),400 enhanced font ',10'
set output out
set logscale y
set format y '10^{%L}'
set xlabel 'iteration'
set ylabel 'gradient norm'
set key bottom left font ',8'
set multiplot layout 1, words(files)
do for [k=1:words(files)] {
    f = word(files, k)
    opts = system(sprintf("cut -d, -f1 %s | tr -d '\"' | awk '!s[$0]++' | tr '\\n' ' '", f))
    set title word(titles, k) noenhanced
    plot for [o in opts] f using 2:((strcol(1) eq o) ? $3 : 1/0) with lines lw 1.5 title o noenhanced
}
unset multiplot
