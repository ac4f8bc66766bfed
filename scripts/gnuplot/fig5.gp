# The paper's Figure 5 / Table 3 after training: the MLP with each layer's
# output scaled by c; left, the best held-out accuracy after one epoch of
# SGD and of Adam (each over its learning-rate grid); right, JS0 at
# initialization with its bootstrap 90% interval.
#
#   gnuplot -e "acc='fig5.csv'; js='table3-trained.csv'; out='fig5.png'" scripts/gnuplot/fig5.gp
#
# fig5.csv rows: c,optimizer,best_lr,accuracy; table3-trained.csv rows: c,JS0,lo,hi.
if (!exists("out")) out = 'fig5.png'
set datafile separator ','
set terminal pngcairo size 960,400 enhanced font ',10'
set output out
set multiplot layout 1, 2
set xlabel 'layer scale c'
set ylabel 'test accuracy after 1 epoch (best lr)'
set key bottom left
plot acc using 1:((strcol(2) eq 'sgd') ? $4 : 1/0) with linespoints lw 1.5 title 'SGD', \
     acc using 1:((strcol(2) eq 'adam') ? $4 : 1/0) with linespoints lw 1.5 title 'Adam'
set ylabel 'JS0 at initialization'
plot js using 1:2:3:4 with yerrorlines lw 1.5 title 'JS0 (90% bootstrap interval)'
unset multiplot
